//! `medlink audit verify FILE [--ca pki/ca.crt] [--json]` checks an audit log's chain and
//! checkpoint signatures (docs/audit.md) and names the first bad entry; it fails on tampering or
//! on a signer the CA did not issue, and warns (succeeding) on a tail a crash cut short.
//! `medlink audit show FILE [--json]` prints the log as a table or as JSON lines.

use anyhow::{Context, bail};
use auditlog::{CaCheck, FileReport, verify_bytes, verify_file};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;
use trust::chain::{Body, Report, Verdict, parse_lines};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check a log's hash chain and signatures; name the first entry that was tampered with.
    Verify(VerifyArgs),
    /// Print a log: seq, wall time (UTC), the role's clock, actor, action, subject, outcome.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The log (JSON Lines), e.g. audit/station.jsonl.
    file: PathBuf,
    /// The site's CA certificate: the signer's certificate must have been issued by it. Without
    /// it, signatures are checked only against the certificate the log itself carries.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    file: PathBuf,
    /// One JSON object per line of the log, each with `verified`.
    #[arg(long)]
    json: bool,
}

pub fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Show(args) => show(args),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let report = verify_file(&args.file, args.ca.as_deref())
        .with_context(|| format!("verifying {}", args.file.display()))?;
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print_report(&report);
    }
    if !report.passed() {
        bail!("{}: {}", args.file.display(), failure(&report));
    }
    Ok(())
}

/// The one line that says why verification failed.
fn failure(report: &FileReport) -> String {
    match (&report.chain.verdict, &report.signer_problem, &report.ca) {
        (Verdict::Tampered(tamper), _, _) => format!("TAMPERED: {tamper}"),
        (_, Some(problem), _) => format!("UNTRUSTED: {problem}"),
        (_, _, CaCheck::NotIssued { subject, why }) => {
            format!("UNTRUSTED: the signer's certificate was not issued by {subject}: {why}")
        }
        _ => "verified".to_string(),
    }
}

fn truncation(after_seq: Option<u64>) -> String {
    let after = match after_seq {
        Some(seq) => format!("after entry {seq}"),
        None => "before the first entry".to_string(),
    };
    format!("truncated tail {after} (the writer stopped mid-line: a crash, not tampering)")
}

fn print_report(report: &FileReport) {
    let chain = &report.chain;
    match &chain.header {
        Some(header) => println!(
            "{}: the {}'s audit log, started {}",
            report.path.display(),
            header.role,
            utc(header.started_us)
        ),
        None => println!("{}: no header", report.path.display()),
    }
    if let Some(signer) = &report.signer {
        let role = signer.role.as_deref().unwrap_or("no medlink role");
        println!(
            "signer: {} ({role}), serial {}, key {}",
            signer.subject, signer.serial, signer.key_id
        );
    }
    match &report.ca {
        CaCheck::NotAsked => println!(
            "CA: not checked: signatures were checked only against the certificate in the file \
             (give --ca to check who issued it)"
        ),
        CaCheck::Issued { subject } => println!("CA: the signer was issued by {subject}"),
        CaCheck::NotIssued { subject, .. } => println!("CA: NOT issued by {subject}"),
        CaCheck::NoSigner => println!("CA: the log names no signer"),
    }
    let before = match &chain.verdict {
        Verdict::Tampered(tamper) => format!("before line {}: ", tamper.line),
        _ => String::new(),
    };
    println!(
        "{before}entries: {}, checkpoints: {}, signed through: {}, unsigned tail: {}, closed: {}",
        chain.entries,
        chain.checkpoints,
        chain
            .signed_through()
            .map_or("none".to_string(), |seq| format!("entry {seq}")),
        chain.unsigned_tail(),
        if chain.closed { "yes" } else { "no" }
    );
    if chain.lost > 0 {
        println!(
            "the writer noted {} records it lost (its queue was full)",
            chain.lost
        );
    }
    match &chain.verdict {
        Verdict::Tampered(_) => {}
        Verdict::TruncatedTail { after_seq, .. } => {
            println!("warning: {}", truncation(*after_seq))
        }
        Verdict::Intact => {}
    }
    if !chain.is_tampered() {
        print_cautions(chain);
    }
    if report.passed() {
        println!("OK: the chain and every checkpoint signature verify");
    } else {
        println!("{}", failure(report));
    }
}

fn print_cautions(chain: &Report) {
    if chain.unsigned_tail() > 0 {
        println!(
            "note: the last {} entries come after the last checkpoint: they are chained but \
             unsigned, and deleting them would go unseen",
            chain.unsigned_tail()
        );
    }
    if !chain.closed && chain.header.is_some() {
        println!(
            "note: the log was not closed (its writer stopped without a closing checkpoint, or \
             its end was removed)"
        );
    }
}

fn report_json(report: &FileReport) -> Value {
    let chain = &report.chain;
    let (status, message) = match &chain.verdict {
        Verdict::Intact => ("intact", "verified".to_string()),
        Verdict::TruncatedTail { after_seq, .. } => ("truncated_tail", truncation(*after_seq)),
        Verdict::Tampered(tamper) => ("tampered", format!("TAMPERED: {tamper}")),
    };
    json!({
        "file": report.path,
        "passed": report.passed(),
        "status": status,
        "message": if report.passed() { message } else { failure(report) },
        "verdict": chain.verdict,
        "role": chain.header.as_ref().map(|h| h.role.clone()),
        "entries": chain.entries,
        "checkpoints": chain.checkpoints,
        "signed_entries": chain.signed_entries,
        "unsigned_tail": chain.unsigned_tail(),
        "lost": chain.lost,
        "closed": chain.closed,
        "signer": report.signer,
        "signer_problem": report.signer_problem,
        "ca": report.ca,
    })
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let report = verify_bytes(&bytes, None);
    let verified_before = report.chain.first_unverified_line();
    let role = report
        .chain
        .header
        .as_ref()
        .map_or("role".to_string(), |h| h.role.clone());
    let lines = parse_lines(&bytes);
    if args.json {
        for line in &lines {
            println!("{}", line_json(line, line.line < verified_before));
        }
    } else {
        print_table(&lines, verified_before, &role);
    }
    let status = match &report.chain.verdict {
        _ if !report.passed() => failure(&report),
        Verdict::TruncatedTail { after_seq, .. } => truncation(*after_seq),
        _ => "verified (signatures against the certificate in the file; `audit verify --ca` \
              checks its issuer)"
            .to_string(),
    };
    if args.json {
        eprintln!("{}: {status}", args.file.display());
    } else {
        println!("{status}");
    }
    Ok(())
}

fn print_table(lines: &[trust::chain::ParsedLine], verified_before: usize, role: &str) {
    let mut rows = vec![[
        String::new(),
        "seq".into(),
        "wall time (UTC)".into(),
        format!("{role} clock (s)"),
        "actor".into(),
        "action".into(),
        "subject".into(),
        "outcome".into(),
    ]];
    for line in lines {
        let mark = if line.line < verified_before {
            " "
        } else {
            "!"
        };
        let cells = match &line.body {
            Ok(Body::Header(h)) => [
                "".into(),
                utc(h.started_us),
                "".into(),
                "".into(),
                "log started".into(),
                format!("{} audit log", h.role),
                h.format.clone(),
            ],
            Ok(Body::Entry(e)) => [
                e.seq.to_string(),
                utc(e.wall_us),
                seconds(e.record.at_us),
                e.record
                    .actor
                    .as_ref()
                    .map_or(format!("({role})"), |a| format!("{} ({})", a.name, a.role)),
                e.record.action.name().into(),
                e.record.subject.clone(),
                e.record.outcome.clone(),
            ],
            Ok(Body::Note(n)) => [
                n.seq.to_string(),
                utc(n.wall_us),
                "".into(),
                "(audit writer)".into(),
                "note".into(),
                n.text.clone(),
                format!("{} lost", n.lost),
            ],
            Ok(Body::Checkpoint(c)) => [
                "".into(),
                "".into(),
                "".into(),
                "(signer)".into(),
                "checkpoint".into(),
                match c.entries {
                    0 => "signs the header".to_string(),
                    n => format!("signs entries 0 to {}", n - 1),
                },
                if c.closing { "log closed" } else { "signed" }.into(),
            ],
            Err(why) => [
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                format!("line {}", line.line),
                "unreadable".into(),
                why.clone(),
            ],
        };
        let [a, b, c, d, e, f, g] = cells;
        rows.push([mark.into(), a, b, c, d, e, f, g]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|col| {
            rows.iter()
                .map(|r| r[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    if lines.iter().any(|l| l.line >= verified_before) {
        println!("(rows marked ! are at or after the first line that did not verify)");
    }
}

fn line_json(line: &trust::chain::ParsedLine, verified: bool) -> Value {
    let n = line.line;
    match &line.body {
        Ok(Body::Header(h)) => json!({
            "line": n, "kind": "header", "role": h.role, "started": utc(h.started_us),
            "started_us": h.started_us, "signer": h.signer, "verified": verified,
        }),
        Ok(Body::Entry(e)) => json!({
            "line": n, "kind": "entry", "seq": e.seq, "wall_time": utc(e.wall_us),
            "wall_us": e.wall_us, "at_us": e.record.at_us, "actor": e.record.actor,
            "action": e.record.action, "subject": e.record.subject,
            "outcome": e.record.outcome, "verified": verified,
        }),
        Ok(Body::Note(note)) => json!({
            "line": n, "kind": "note", "seq": note.seq, "wall_time": utc(note.wall_us),
            "wall_us": note.wall_us, "lost": note.lost, "text": note.text,
            "verified": verified,
        }),
        Ok(Body::Checkpoint(c)) => json!({
            "line": n, "kind": "checkpoint", "entries": c.entries, "closing": c.closing,
            "signer": c.signer, "verified": verified,
        }),
        Err(why) => json!({
            "line": n, "kind": "unreadable", "why": why, "verified": false,
        }),
    }
}

/// µs on a role's clock as seconds.
fn seconds(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let abs = us.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// µs since the Unix epoch as UTC ISO 8601 (`2026-12-03T12:00:00.123456Z`).
fn utc(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(utc(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        assert_eq!(utc(1_796_299_199_500_000), "2026-12-03T11:59:59.500000Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(seconds(-1_500_000), "-1.500000");
    }
}
