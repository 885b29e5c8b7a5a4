//! The content of a message by type: the data messages medlink speaks (TRANSFORM, POSITION,
//! STATUS, STRING, POINT, IMAGE) and the queries the protocol defines for them (GET_ asks for
//! one message, STT_/STP_ start and stop a stream, RTS_ answers those with a status byte).

mod image;
mod point;
mod position;
mod status;
mod string;
mod transform;

pub use image::{Coord, Endian, Image, ScalarType};
pub use point::{POINT_LEN, Point};
pub use position::Position;
pub use status::{Status, StatusCode};
pub use string::StringMessage;
pub use transform::Transform;

use crate::IgtlError;

/// The data types medlink handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    Transform,
    Position,
    Status,
    String,
    Point,
    Image,
}

impl DataType {
    pub const ALL: [DataType; 6] = [
        DataType::Transform,
        DataType::Position,
        DataType::Status,
        DataType::String,
        DataType::Point,
        DataType::Image,
    ];

    /// The TYPE field of the data message.
    pub fn type_name(self) -> &'static str {
        match self {
            DataType::Transform => "TRANSFORM",
            DataType::Position => "POSITION",
            DataType::Status => "STATUS",
            DataType::String => "STRING",
            DataType::Point => "POINT",
            DataType::Image => "IMAGE",
        }
    }

    /// The name after a query prefix (TRANSFORM is shortened to fit 12 characters).
    fn query_suffix(self) -> &'static str {
        match self {
            DataType::Transform => "TRANS",
            other => other.type_name(),
        }
    }

    /// Which queries the protocol defines for this type (Documents/Protocol/*.md): every type
    /// has GET_; only TRANSFORM, POSITION and IMAGE stream (STT_/STP_/RTS_).
    pub fn has_query(self, kind: QueryKind) -> bool {
        match kind {
            QueryKind::Get => true,
            QueryKind::Start | QueryKind::Stop | QueryKind::Reply => matches!(
                self,
                DataType::Transform | DataType::Position | DataType::Image
            ),
        }
    }
}

/// The four query forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    /// GET_: send one message of this type (empty body).
    Get,
    /// STT_: start streaming this type (empty body for the types here).
    Start,
    /// STP_: stop streaming it (empty body).
    Stop,
    /// RTS_: the answer to STT_/STP_, one status byte (0 success, 1 error).
    Reply,
}

impl QueryKind {
    pub const ALL: [QueryKind; 4] = [
        QueryKind::Get,
        QueryKind::Start,
        QueryKind::Stop,
        QueryKind::Reply,
    ];

    fn prefix(self) -> &'static str {
        match self {
            QueryKind::Get => "GET_",
            QueryKind::Start => "STT_",
            QueryKind::Stop => "STP_",
            QueryKind::Reply => "RTS_",
        }
    }
}

/// A query message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub kind: QueryKind,
    pub data: DataType,
    /// The RTS_ status byte (0 success, 1 error); 0 and unused for the other kinds.
    pub status: u8,
}

impl Query {
    pub fn type_name(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.data.query_suffix())
    }
}

/// A message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Transform(Transform),
    Position(Position),
    Status(Status),
    String(StringMessage),
    Point(Vec<Point>),
    Image(Image),
    Query(Query),
}

impl Body {
    /// The TYPE field for this content.
    pub fn type_name(&self) -> String {
        match self {
            Body::Transform(_) => DataType::Transform.type_name().into(),
            Body::Position(_) => DataType::Position.type_name().into(),
            Body::Status(_) => DataType::Status.type_name().into(),
            Body::String(_) => DataType::String.type_name().into(),
            Body::Point(_) => DataType::Point.type_name().into(),
            Body::Image(_) => DataType::Image.type_name().into(),
            Body::Query(q) => q.type_name(),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), IgtlError> {
        match self {
            Body::Transform(t) => t.encode(out),
            Body::Position(p) => p.encode(out),
            Body::Status(s) => s.encode(out)?,
            Body::String(s) => s.encode(out)?,
            Body::Point(points) => {
                for p in points {
                    p.encode(out)?;
                }
            }
            Body::Image(i) => i.encode(out)?,
            Body::Query(q) if q.kind == QueryKind::Reply => out.push(q.status),
            Body::Query(_) => {}
        }
        Ok(())
    }

    /// Decodes the content of a message of type `type_name`.
    pub fn decode(type_name: &str, content: &[u8]) -> Result<Body, IgtlError> {
        for data in DataType::ALL {
            if type_name == data.type_name() {
                return Self::decode_data(data, content);
            }
            for kind in QueryKind::ALL {
                let query = Query {
                    kind,
                    data,
                    status: 0,
                };
                if data.has_query(kind) && type_name == query.type_name() {
                    return Self::decode_query(query, content);
                }
            }
        }
        Err(IgtlError::UnknownType(type_name.to_string()))
    }

    fn decode_data(data: DataType, content: &[u8]) -> Result<Body, IgtlError> {
        Ok(match data {
            DataType::Transform => Body::Transform(Transform::decode(content)?),
            DataType::Position => Body::Position(Position::decode(content)?),
            DataType::Status => Body::Status(Status::decode(content)?),
            DataType::String => Body::String(StringMessage::decode(content)?),
            DataType::Point => Body::Point(point::decode_list(content)?),
            DataType::Image => Body::Image(Image::decode(content)?),
        })
    }

    fn decode_query(mut query: Query, content: &[u8]) -> Result<Body, IgtlError> {
        let expected = usize::from(query.kind == QueryKind::Reply);
        if content.len() != expected {
            return Err(IgtlError::Length {
                what: "query",
                expected: format!("{} carries {expected}", query.type_name()),
                got: content.len(),
            });
        }
        if let Some(&status) = content.first() {
            if status > 1 {
                return Err(IgtlError::Invalid {
                    field: "RTS_ status",
                    detail: format!("{status} is neither 0 (success) nor 1 (error)"),
                });
            }
            query.status = status;
        }
        Ok(Body::Query(query))
    }
}
