//! What medlink does with a message from an OpenIGTLink peer: a POINT list or a TRANSFORM (or
//! POSITION) is a target for the operator to see; GET_/STT_/STP_ queries are answered; STATUS
//! and STRING are noted; anything else, and anything malformed, is refused with a STATUS reply
//! naming why (checksum error 9, unknown type 12, other 2), and the connection goes on.

use igtl::{Body, IgtlError, Message, Query, StatusCode, Transform};

/// A target a peer (3D Slicer) sent. For the arm it is shown to the operator and logged, never
/// a command to the station; coordinates are the peer's (patient frame, mm).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A POINT list (`Targets` by convention): name and position of each point.
    Points {
        device: String,
        points: Vec<(String, [f32; 3])>,
    },
    /// A TRANSFORM (`Target` by convention) or POSITION: the target pose.
    Pose {
        device: String,
        transform: Transform,
    },
}

impl Target {
    /// One line for the operator's log.
    pub fn describe(&self) -> String {
        match self {
            Target::Points { device, points } => {
                let list: Vec<String> = points
                    .iter()
                    .map(|(name, p)| format!("{name} ({:.1}, {:.1}, {:.1}) mm", p[0], p[1], p[2]))
                    .collect();
                format!("{device}: {} points: {}", points.len(), list.join(", "))
            }
            Target::Pose { device, transform } => {
                let t = transform.translation_mm();
                format!(
                    "{device}: pose at ({:.1}, {:.1}, {:.1}) mm",
                    t[0], t[1], t[2]
                )
            }
        }
    }
}

/// What to do with one inbound message.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Target(Target),
    Query {
        query: Query,
        device: String,
    },
    /// Accepted and only logged (a peer's STATUS or STRING).
    Noted(String),
    /// Refused: the STATUS code and the reason sent back.
    Refuse {
        code: u16,
        reason: String,
    },
}

fn refuse(code: StatusCode, reason: impl Into<String>) -> Inbound {
    Inbound::Refuse {
        code: code as u16,
        reason: reason.into(),
    }
}

pub fn classify(received: Result<Message, IgtlError>) -> Inbound {
    let message = match received {
        Ok(message) => message,
        Err(e @ IgtlError::Crc { .. }) => return refuse(StatusCode::ChecksumError, e.to_string()),
        Err(e @ IgtlError::UnknownType(_)) => {
            return refuse(StatusCode::UnknownInstruction, e.to_string());
        }
        Err(e) => return refuse(StatusCode::UnknownError, e.to_string()),
    };
    let device = message.device_name;
    match message.body {
        Body::Point(points) => {
            if points
                .iter()
                .any(|p| p.position_mm.iter().any(|v| !v.is_finite()))
            {
                return refuse(StatusCode::UnknownError, "a point is not finite");
            }
            Inbound::Target(Target::Points {
                device,
                points: points
                    .into_iter()
                    .map(|p| (p.name, p.position_mm))
                    .collect(),
            })
        }
        Body::Transform(transform) if transform.is_finite() => {
            Inbound::Target(Target::Pose { device, transform })
        }
        Body::Position(p)
            if p.position_mm
                .iter()
                .chain(&p.quaternion_xyzw)
                .all(|v| v.is_finite()) =>
        {
            let [x, y, z, w] = p.quaternion_xyzw.map(f64::from);
            let r = super::publish::rotation_of([x, y, z, w]);
            Inbound::Target(Target::Pose {
                device,
                transform: Transform::from_rotation_translation(r, p.position_mm.map(f64::from)),
            })
        }
        Body::Transform(_) | Body::Position(_) => {
            refuse(StatusCode::UnknownError, "a pose with a non-finite number")
        }
        Body::Query(query) => Inbound::Query { query, device },
        Body::Status(s) => Inbound::Noted(format!(
            "STATUS {device}: code {} {} {}",
            s.code, s.error_name, s.message
        )),
        Body::String(s) => Inbound::Noted(format!("STRING {device}: {}", s.text)),
        Body::Image(_) => refuse(
            StatusCode::UnknownInstruction,
            "medlink takes targets (POINT, TRANSFORM), not images",
        ),
    }
}
