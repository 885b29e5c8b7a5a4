//! OpenIGTLink edge of a console (`medlink igtl`, `medlink console --igtl`): 3D Slicer and other
//! OpenIGTLink peers see what the session carries (tool tip, RCM, supervisor state, HIFU
//! thermometry) and send targets back. `watch` takes the session's inputs as a tap and keeps the
//! latest of each; `publish` turns that into messages (pure); `server` is the TCP server with
//! many clients, each behind a bounded queue; `inbound` decides what a peer's message is.
//! Targets from a peer are shown to the operator, never sent to the station; for HIFU a POINT
//! list (points, or a `Contour` outline filled with spots) becomes a plan only after validation
//! (`hifu_targets`, `contour`; docs/igtl.md).

pub mod contour;
pub mod hifu_targets;
pub mod inbound;
pub mod publish;
pub mod server;
pub mod watch;

pub use inbound::Target;
pub use publish::Registration;
pub use server::{IgtlConfig, IgtlServer};
pub use watch::{Latest, SessionWatch};
