//! `medlink console`: the surgeon's console, connecting to a station and running an input source.

use super::{config_file, summary};
use clap::{Args, ValueEnum};
use console::ConsoleConfig;
use console::config::InputConfig;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Script {
    Suturing,
    KnotTying,
}

/// Input and output flags shared by `console` and `demo`.
#[derive(Args)]
pub struct RunArgs {
    /// Scripted surgical motion to run (default suturing; with `demo --ui` and no script the
    /// page's hand drives instead).
    #[arg(long, value_enum)]
    pub script: Option<Script>,
    /// Replay recorded master poses from a CSV instead of a script (format: docs/console-input.md).
    #[arg(long, conflicts_with = "script")]
    pub replay: Option<PathBuf>,
    /// Seed of the scripted motion.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds to run (default: the demo's 10 s, or the input's own length for `console`).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Print one JSON object instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    pub fn input(&self) -> InputConfig {
        match (&self.replay, self.script.unwrap_or(Script::Suturing)) {
            (Some(csv), _) => InputConfig::Replay { csv: csv.clone() },
            (None, Script::Suturing) => InputConfig::Suturing { seed: self.seed },
            (None, Script::KnotTying) => InputConfig::KnotTying { seed: self.seed },
        }
    }

    pub fn print(&self, report: &console::ConsoleReport) -> anyhow::Result<()> {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary::to_json(report))?
            );
        } else {
            summary::print_text(report);
        }
        Ok(())
    }
}

#[derive(Args)]
pub struct ConsoleArgs {
    /// The station's address, HOST:PORT.
    #[arg(long)]
    station: Option<SocketAddr>,
    /// TOML configuration (see docs/telesurgery.md and examples/); flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// PKI directory from `medlink pki init`.
    #[arg(long)]
    pki: Option<PathBuf>,
    /// Name in the station's certificate (default localhost).
    #[arg(long)]
    server_name: Option<String>,
    /// This console's certificate in the PKI directory, by file stem (default `console`, the one
    /// `pki init` makes; `dr-li-wei` for one `pki issue --name "Dr Li Wei"` made).
    #[arg(long)]
    certificate: Option<String>,
    /// Where the console's audit log goes (default `audit`).
    #[arg(long, default_value = "audit")]
    audit_dir: PathBuf,
    /// Read operator commands from standard input (offer NAME, accept, decline, withdraw,
    /// enable, engage, disengage, estop) while the scripted input runs.
    #[arg(long, conflicts_with = "ui")]
    commands: bool,
    #[command(flatten)]
    ui: super::console_ui::UiArgs,
    /// Run a remote HIFU procedure with this plan instead of arm motion: the plan goes to the
    /// station on the bulk channel, its spots run one by one with a live view; standard input
    /// takes pause, resume, stop and ack (docs/hifu.md, "Remote procedure").
    #[arg(long)]
    hifu: Option<PathBuf>,
    /// Record the console's sessions (MCAP) into this directory (default: `record_dir` of the
    /// config, `recordings`); see docs/recording.md.
    #[arg(long, conflicts_with = "no_record")]
    record: Option<PathBuf>,
    /// Do not record.
    #[arg(long)]
    no_record: bool,
    /// Also serve OpenIGTLink here (3D Slicer: tool tip, RCM, state, thermal map; targets it
    /// sends are shown to the operator, never sent to the station; docs/igtl.md).
    #[arg(long)]
    igtl: Option<SocketAddr>,
    #[command(flatten)]
    igtl_options: super::igtl::IgtlArgs,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let mut config: ConsoleConfig = config_file::load(args.config.as_deref())?;
    if let Some(station) = args.station {
        config.station = station;
    }
    if let Some(pki) = args.pki {
        config.pki_dir = pki;
    }
    if let Some(name) = args.server_name {
        config.server_name = name;
    }
    if let Some(certificate) = args.certificate {
        config.certificate = certificate;
    }
    if let Some(dir) = args.record {
        config.record_dir = Some(dir);
    }
    if args.no_record {
        config.record_dir = None;
    }
    config.input = args.run.input();
    config.duration_s = args.run.duration.or(config.duration_s);
    let audit = super::audit_file::open(&args.audit_dir, &config.pki_paths(), "console")?;
    let igtl = args
        .igtl
        .map(|listen| args.igtl_options.start(listen, &config.pki_dir))
        .transpose()?
        .map(|(server, watch, targets)| {
            let hifu = args
                .hifu
                .as_deref()
                .map(|plan| {
                    super::igtl::HifuTargets::load(plan, args.igtl_options.igtl_target_plan.clone())
                })
                .transpose()?;
            super::igtl::show_targets(targets, hifu);
            anyhow::Ok((server, watch))
        })
        .transpose()?;
    anyhow::ensure!(
        args.ui.ui.is_none() || args.hifu.is_none(),
        "--ui drives the arm; a HIFU procedure runs from standard input without it"
    );
    let mut ui = super::console_ui::start_for(&args.ui, &mut config, true)?;
    if let Some(ui) = &ui {
        ui.stop_on_signal()?;
        println!(
            "console page: {} (one-time sign-in link; Ctrl-C stops the console)",
            ui.page.url()
        );
    }
    let controls = console::Controls {
        actions: match ui.as_mut() {
            Some(ui) => ui.actions.take(),
            None => (args.commands && args.hifu.is_none())
                .then(|| read_commands(teleop::OperatorAction::parse)),
        },
        audit: Some(Box::new(audit.sender())),
        hifu: args
            .hifu
            .as_deref()
            .map(super::console_hifu::controls)
            .transpose()?,
        thermometry: igtl.as_ref().map(|(_, watch)| watch.thermometry_sink()),
        page: ui.as_ref().map(|ui| ui.link.clone()),
    };
    let mut recording = None;
    let result = console::run(&config, controls, |session| {
        let tap = super::record::start(config.record_dir.as_deref(), session, &mut recording)?;
        anyhow::Ok((tap, igtl.as_ref().map(|(_, watch)| watch.clone())))
    });
    super::record::finish(recording)?;
    super::audit_file::finish(audit)?;
    let report = result?;
    if args.hifu.is_some() && !args.run.json {
        println!(
            "console stopped: {} sessions, procedure over",
            report.sessions.len()
        );
        return Ok(());
    }
    args.run.print(&report)
}

/// Operator commands typed on standard input, parsed on a thread of their own.
/// Lines of standard input parsed by `parse`, on their own thread; a bad line is answered on
/// stderr and skipped.
pub fn read_commands<T: Send + 'static>(
    parse: fn(&str) -> Result<Option<T>, String>,
) -> std::sync::mpsc::Receiver<T> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            match parse(&line) {
                Ok(Some(action)) => {
                    if tx.send(action).is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!("{e}"),
            }
        }
    });
    rx
}
