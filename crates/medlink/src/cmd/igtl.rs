//! `medlink igtl`: an OpenIGTLink server (3D Slicer, PLUS, pyigtl) fed by a live session. It
//! joins the station as a watch-only console (an observer certificate: it can never operate)
//! and republishes what the session carries: the tool tip and RCM (TRANSFORM), the supervisor's
//! state (STATUS) and, during a HIFU procedure, the thermometry slices (IMAGE). Targets a peer
//! sends are printed as JSON lines on stdout, never sent to the station; with `--hifu-plan` a
//! POINT list becomes a plan file once it validates, one spot per point, or the interior of the
//! outline filled with spots when the list is named `Contour` (docs/igtl.md).
//! `IgtlArgs` is shared with `medlink console --igtl`.

use anyhow::Context;
use clap::Args;
use console::ConsoleConfig;
use console::config::InputConfig;
use console::igtl::hifu_targets::{plan_from_contour, plan_from_points};
use console::igtl::publish::Framing;
use console::igtl::server::IgtlTls;
use console::igtl::{IgtlConfig, IgtlServer, Registration, SessionWatch, Target};
use hifu::plan::Plan;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use teleop::hifu::PlanLimits;

/// The OpenIGTLink server's flags (`medlink igtl`, and `medlink console` with `--igtl`).
#[derive(Args, Clone)]
pub struct IgtlArgs {
    /// Messages per second of the tool-tip TRANSFORM (only new poses are sent).
    #[arg(long, default_value_t = 50.0)]
    pub igtl_rate: f64,
    /// Thermometry IMAGE pairs (temperature and dose) per second, at most.
    #[arg(long, default_value_t = 2.0)]
    pub igtl_image_rate: f64,
    /// Messages queued per client; a client that falls this far behind is dropped.
    #[arg(long, default_value_t = 256)]
    pub igtl_queue: usize,
    /// The arm base in the patient frame: 12 comma-separated numbers, the rows of the 3×4
    /// matrix (rotation | translation in mm). Default: identity (the patient frame is the arm's
    /// base frame, origin at the remote centre of motion).
    #[arg(long)]
    pub igtl_registration: Option<String>,
    /// OpenIGTLink protocol of what medlink sends: 2 (header version 1, what most peers read) or
    /// 3 (header version 2 with metadata: the station's time, sequence numbers, units).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub igtl_protocol: u8,
    /// Where a HIFU plan made from a peer's POINT list goes once it validates (run it with
    /// `medlink console --hifu FILE`; nothing starts by itself).
    #[arg(long, default_value = "igtl-target-plan.json")]
    pub igtl_target_plan: PathBuf,
    /// Serve OpenIGTLink over TLS 1.3, presenting this certificate of the PKI directory (one with
    /// server authentication: `station`) and requiring a client certificate of the medlink CA
    /// with a person's role. Needed to listen beyond loopback (docs/igtl.md, "Security").
    #[arg(long)]
    pub igtl_tls: Option<String>,
}

impl IgtlArgs {
    pub fn config(&self, listen: SocketAddr, pki: &Path) -> anyhow::Result<IgtlConfig> {
        anyhow::ensure!(
            listen.ip().is_loopback() || self.igtl_tls.is_some(),
            "OpenIGTLink has no authentication of its own: listening on {listen} beyond loopback \
             needs --igtl-tls (docs/igtl.md, \"Security\")"
        );
        let tls = self
            .igtl_tls
            .as_deref()
            .map(|stem| IgtlTls::from_pki(pki, stem))
            .transpose()
            .context("--igtl-tls")?;
        let registration = match &self.igtl_registration {
            Some(text) => Registration::parse(text)
                .map_err(|e| anyhow::anyhow!("--igtl-registration: {e}"))?,
            None => Registration::default(),
        };
        Ok(IgtlConfig {
            listen,
            rate_hz: self.igtl_rate,
            image_rate_hz: self.igtl_image_rate,
            queue: self.igtl_queue,
            registration,
            framing: if self.igtl_protocol == 3 {
                Framing::V3
            } else {
                Framing::V2
            },
            tls,
            ..IgtlConfig::default()
        })
    }

    /// Starts the server beside a console run: the tap and the thermometry sink to give the
    /// run, and where targets arrive.
    pub fn start(
        &self,
        listen: SocketAddr,
        pki: &Path,
    ) -> anyhow::Result<(IgtlServer, SessionWatch, std::sync::mpsc::Receiver<Target>)> {
        let watch = SessionWatch::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = IgtlServer::start(self.config(listen, pki)?, watch.clone(), tx)?;
        Ok((server, watch, rx))
    }
}

#[derive(Args)]
pub struct IgtlCommandArgs {
    /// The station's address, HOST:PORT.
    #[arg(long)]
    station: SocketAddr,
    /// PKI directory from `medlink pki init`.
    #[arg(long, default_value = "pki")]
    pki: PathBuf,
    /// Name in the station's certificate.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// This bridge's certificate in the PKI directory, by file stem: an observer's (`medlink pki
    /// issue --role observer --name "IGT Bridge"` makes `igt-bridge`), so it can only watch.
    #[arg(long, default_value = "igt-bridge")]
    certificate: String,
    /// Where OpenIGTLink peers connect.
    #[arg(long, default_value = "127.0.0.1:18944")]
    listen: SocketAddr,
    /// Stop after this many seconds (default 4 hours).
    #[arg(long, default_value_t = 4.0 * 3600.0)]
    duration: f64,
    /// Where the bridge's audit log goes.
    #[arg(long, default_value = "audit")]
    audit_dir: PathBuf,
    /// The HIFU plan of the procedure (the station's patient model and transducer): a POINT list
    /// from a peer becomes a plan with one spot per point (or, named `Contour`, spots filling the
    /// outline) once it validates against this one.
    #[arg(long)]
    hifu_plan: Option<PathBuf>,
    #[command(flatten)]
    igtl: IgtlArgs,
}

pub fn run(args: IgtlCommandArgs) -> anyhow::Result<()> {
    let config = ConsoleConfig {
        station: args.station,
        server_name: args.server_name.clone(),
        pki_dir: args.pki.clone(),
        certificate: args.certificate.clone(),
        input: InputConfig::Suturing { seed: 1 },
        duration_s: Some(args.duration),
        record_dir: None,
        ..ConsoleConfig::default()
    };
    refuse_an_operator(&config)?;
    let hifu = args
        .hifu_plan
        .as_deref()
        .map(|plan| HifuTargets::load(plan, args.igtl.igtl_target_plan.clone()))
        .transpose()?;
    let (server, watch, targets) = args.igtl.start(args.listen, &args.pki)?;
    println!("{}", server.local_addr());
    print_targets(targets, hifu);
    let audit = super::audit_file::open(&args.audit_dir, &config.pki_paths(), "igtl")?;
    let controls = console::Controls {
        audit: Some(Box::new(audit.sender())),
        thermometry: Some(watch.thermometry_sink()),
        ..console::Controls::default()
    };
    let result = console::run(&config, controls, |_| {
        Ok::<_, std::convert::Infallible>(watch)
    });
    let stats = server.stats();
    eprintln!(
        "OpenIGTLink: {} clients, {} tool tips and {} images sent, {} targets received, {} messages refused, {} slow clients dropped",
        stats.accepted.load(std::sync::atomic::Ordering::Relaxed),
        stats
            .tool_tips_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        stats.images_sent.load(std::sync::atomic::Ordering::Relaxed),
        stats.targets.load(std::sync::atomic::Ordering::Relaxed),
        stats.refused.load(std::sync::atomic::Ordering::Relaxed),
        stats
            .dropped_slow
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    server.stop();
    super::audit_file::finish(audit)?;
    result?;
    Ok(())
}

/// The bridge only watches: a certificate whose role may operate is refused before connecting.
fn refuse_an_operator(config: &ConsoleConfig) -> anyhow::Result<()> {
    let cert = config.pki_paths().cert;
    let who = link::identity_of_file(&cert)
        .with_context(|| format!("reading this bridge's certificate {}", cert.display()))?;
    anyhow::ensure!(
        !who.role.may_operate(),
        "medlink igtl only watches, but {} is a {} certificate that may operate; issue an observer \
         certificate (`medlink pki issue --dir {} --role observer --name \"IGT Bridge\" --out {}`) \
         and pass --certificate igt-bridge",
        config.certificate,
        who.role,
        config.pki_dir.display(),
        config.pki_dir.display(),
    );
    Ok(())
}

/// The device name of a POINT list that is a closed outline to fill with spots, not one spot
/// per point (3D Slicer sends a point list under its node's name; docs/igtl.md).
const CONTOUR_DEVICE: &str = "Contour";

/// A HIFU procedure's reference plan and its model's grid, to turn a peer's points into a plan.
pub struct HifuTargets {
    reference: Plan,
    grid: hifu::grid::Grid,
    out: PathBuf,
}

impl HifuTargets {
    pub fn load(plan: &Path, out: PathBuf) -> anyhow::Result<HifuTargets> {
        let bytes = std::fs::read(plan)
            .with_context(|| format!("reading the HIFU plan {}", plan.display()))?;
        let reference =
            Plan::from_json(&bytes).with_context(|| format!("the HIFU plan {}", plan.display()))?;
        let grid = super::hifu::load_medium(&reference.medium)?.grid;
        Ok(HifuTargets {
            reference,
            grid,
            out,
        })
    }

    /// Validates a plan made from `points` (one spot each, or the interior of the outline when
    /// the list is named `Contour`) and writes it; what happened, as JSON.
    fn on_points(&self, device: &str, points: &[(String, [f32; 3])]) -> serde_json::Value {
        let make = if device == CONTOUR_DEVICE {
            plan_from_contour
        } else {
            plan_from_points
        };
        let made = make(
            &self.reference,
            &self.grid,
            points,
            &PlanLimits::default(),
            &safety::hifu::HifuLimits::default(),
        );
        let written = made.and_then(|made| {
            let json = serde_json::to_vec_pretty(&made.plan).map_err(|e| e.to_string())?;
            std::fs::write(&self.out, json)
                .map_err(|e| format!("writing {}: {e}", self.out.display()))?;
            Ok(made)
        });
        match written {
            Ok(made) => serde_json::json!({
                "file": self.out,
                "spots": made.plan.spots.len(),
                "energy_j": made.preview.energy_j,
                "digest": made.preview.digest,
            }),
            Err(reason) => serde_json::json!({ "refused": reason }),
        }
    }
}

/// A target as one JSON object; with a HIFU plan, a POINT list also says what became of it.
fn target_json(target: &Target, hifu: Option<&HifuTargets>) -> serde_json::Value {
    match target {
        Target::Points { device, points } => {
            let mut json = serde_json::json!({
                "target": "points",
                "device": device,
                "points": points.iter().map(|(name, mm)| serde_json::json!({"name": name, "mm": mm})).collect::<Vec<_>>(),
            });
            if let Some(hifu) = hifu {
                json["hifu_plan"] = hifu.on_points(device, points);
            }
            json
        }
        Target::Pose { device, transform } => serde_json::json!({
            "target": "pose",
            "device": device,
            "rows": transform.rows,
        }),
    }
}

/// Targets from peers as JSON lines on stdout, from a thread of their own.
pub fn print_targets(targets: std::sync::mpsc::Receiver<Target>, hifu: Option<HifuTargets>) {
    std::thread::spawn(move || {
        for target in targets {
            println!("{}", target_json(&target, hifu.as_ref()));
        }
    });
}

/// Targets from peers shown to the operator of `medlink console --igtl`: logged, never sent;
/// during a HIFU procedure a POINT list is made into a plan file once it validates, for the
/// operator to run next.
pub fn show_targets(targets: std::sync::mpsc::Receiver<Target>, hifu: Option<HifuTargets>) {
    std::thread::spawn(move || {
        for target in targets {
            tracing::warn!(
                target = %target.describe(),
                outcome = %target_json(&target, hifu.as_ref()),
                "TARGET from OpenIGTLink, for you to see: the arm moves only by your hand, and \
                 the running HIFU plan does not change"
            );
        }
    });
}
