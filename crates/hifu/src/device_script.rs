//! The text commands of the simulated HIFU device, one per line, as an operator or a script types
//! them: `sonicate SPOT [POWER_W SECONDS]` (the plan's power and on-time when omitted), `stop`,
//! `ack` (acknowledge a safety stop), `wait SECONDS`, `wait done`, `quit`; blank lines and `#`
//! comments are skipped.

use crate::device::DeviceCommand;
use crate::plan::Spot;

/// The commands, as help texts and errors show them.
pub const USAGE: &str =
    "commands: sonicate SPOT [POWER_W SECONDS] | stop | ack | wait SECONDS | wait done | quit";

/// One line of input, understood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Input {
    Command(DeviceCommand),
    /// Read no more input until this many more simulated seconds have passed.
    WaitSeconds(f64),
    /// Read no more input until the sonication under way has ended.
    WaitDone,
    Quit,
}

/// Parses a line against the plan's spots: `Ok(None)` for a blank line or a `#` comment.
pub fn parse_line(line: &str, spots: &[Spot]) -> Result<Option<Input>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |what: &str, word: &str| -> Result<f64, String> {
        word.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{what} '{word}' is not a number"))
    };
    let input = match words.as_slice() {
        [] => return Ok(None),
        [first, ..] if first.starts_with('#') => return Ok(None),
        ["sonicate", spot, rest @ ..] => {
            let index: usize = spot
                .parse()
                .map_err(|_| format!("spot '{spot}' is not a spot number"))?;
            let planned = spots.get(index).ok_or_else(|| {
                format!(
                    "no spot {index}: the plan has {} (0 to {})",
                    spots.len(),
                    spots.len().saturating_sub(1)
                )
            })?;
            let (power_w, duration_s) = match rest {
                [] => (planned.power_w, planned.on_s),
                [power, seconds] => (number("power", power)?, number("duration", seconds)?),
                _ => return Err("usage: sonicate SPOT [POWER_W SECONDS]".into()),
            };
            Input::Command(DeviceCommand::Sonicate {
                spot: index,
                power_w,
                duration_s,
            })
        }
        ["stop"] => Input::Command(DeviceCommand::Stop),
        ["ack" | "acknowledge"] => Input::Command(DeviceCommand::Acknowledge),
        ["wait", "done"] => Input::WaitDone,
        ["wait", seconds] => {
            let seconds = number("wait", seconds)?;
            if seconds < 0.0 {
                return Err(format!("wait {seconds}: seconds must not be negative"));
            }
            Input::WaitSeconds(seconds)
        }
        ["quit"] => Input::Quit,
        [word, ..] => return Err(format!("cannot read '{word} ...'; {USAGE}")),
    };
    Ok(Some(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spots() -> Vec<Spot> {
        vec![Spot {
            slice: 0,
            focus_mm: [0.0; 3],
            power_w: 40.0,
            on_s: 20.0,
            cool_s: 0.0,
        }]
    }

    fn sonicate(spot: usize, power_w: f64, duration_s: f64) -> Option<Input> {
        Some(Input::Command(DeviceCommand::Sonicate {
            spot,
            power_w,
            duration_s,
        }))
    }

    #[test]
    fn commands_are_read_with_the_plans_defaults() {
        let spots = spots();
        let parse = |line| parse_line(line, &spots);
        assert_eq!(parse("sonicate 0"), Ok(sonicate(0, 40.0, 20.0)));
        assert_eq!(parse("  sonicate 0 25.5 3 "), Ok(sonicate(0, 25.5, 3.0)));
        assert_eq!(parse("stop"), Ok(Some(Input::Command(DeviceCommand::Stop))));
        assert_eq!(parse("wait 12.5"), Ok(Some(Input::WaitSeconds(12.5))));
        assert_eq!(parse("wait done"), Ok(Some(Input::WaitDone)));
        assert_eq!(parse("quit"), Ok(Some(Input::Quit)));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("# a comment"), Ok(None));
    }

    #[test]
    fn bad_lines_are_refused_with_the_reason() {
        let spots = spots();
        for (line, reason) in [
            ("sonicate 1", "no spot 1: the plan has 1 (0 to 0)"),
            ("sonicate x", "spot 'x' is not a spot number"),
            ("sonicate 0 abc 3", "power 'abc' is not a number"),
            ("sonicate 0 10 inf", "duration 'inf' is not a number"),
            ("sonicate 0 10", "usage: sonicate SPOT"),
            ("wait -1", "seconds must not be negative"),
            ("wait soon", "wait 'soon' is not a number"),
            ("fire", "cannot read 'fire ...'"),
            ("stop now", "cannot read 'stop ...'"),
        ] {
            let error = parse_line(line, &spots).unwrap_err();
            assert!(error.contains(reason), "{line}: {error}");
        }
    }
}
