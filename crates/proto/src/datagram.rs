//! Fixed-layout datagrams: control commands (console → station), state reports and clock-sync
//! echoes. Layout: magic, version, kind, reserved, little-endian body, CRC-64/ECMA-182 of all before.

use crate::{CRC64, DecodeError, MAGIC, WIRE_VERSION};
use serde::{Deserialize, Serialize};

const HEADER_LEN: usize = 4;
const CRC_LEN: usize = 8;
/// The largest encoded datagram; well under QUIC's 1162-byte initial datagram limit.
pub const MAX_DATAGRAM_LEN: usize = HEADER_LEN + StateReport::BODY_LEN + CRC_LEN;

/// A tool-tip pose on the wire: position in metres, orientation as a unit quaternion (x, y, z, w).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct WirePose {
    pub position_m: [f64; 3],
    pub quaternion_xyzw: [f64; 4],
}

/// The surgeon's command for one control tick: where the tool tip should be, and the jaw angle.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ControlCommand {
    /// Strictly increasing per session; the station applies only newer commands.
    pub seq: u64,
    /// When the console issued it, on the console's clock (µs since the console's epoch).
    pub sent_at_us: i64,
    pub target: WirePose,
    pub jaw_rad: f64,
}

/// What the station measured on one servo tick.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StateReport {
    pub seq: u64,
    /// Station clock (µs since the station's epoch).
    pub station_time_us: i64,
    /// The newest control command applied so far (0 when none).
    pub last_applied_seq: u64,
    pub supervisor_state: u8,
    pub joints: [f64; 6],
    pub tip: WirePose,
}

/// Clock-sync request: carries the sender's transmit time t1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClockPing {
    pub id: u64,
    pub t1_us: i64,
}

/// Clock-sync echo: t1 copied back, t2 when the ping arrived, t3 when the echo left (responder clock).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClockPong {
    pub id: u64,
    pub t1_us: i64,
    pub t2_us: i64,
    pub t3_us: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Datagram {
    Control(ControlCommand),
    State(StateReport),
    Ping(ClockPing),
    Pong(ClockPong),
}

const KIND_CONTROL: u8 = 1;
const KIND_STATE: u8 = 2;
const KIND_PING: u8 = 3;
const KIND_PONG: u8 = 4;

impl ControlCommand {
    const BODY_LEN: usize = 8 + 8 + 7 * 8 + 8;
}
impl StateReport {
    const BODY_LEN: usize = 8 + 8 + 8 + 8 + 6 * 8 + 7 * 8;
}
impl ClockPing {
    const BODY_LEN: usize = 16;
}
impl ClockPong {
    const BODY_LEN: usize = 32;
}

impl Datagram {
    fn kind(&self) -> u8 {
        match self {
            Datagram::Control(_) => KIND_CONTROL,
            Datagram::State(_) => KIND_STATE,
            Datagram::Ping(_) => KIND_PING,
            Datagram::Pong(_) => KIND_PONG,
        }
    }

    /// Encodes into `buf` (at least `MAX_DATAGRAM_LEN` bytes) and returns the length used.
    /// Never allocates, so it can run on the 1 kHz path.
    pub fn encode(&self, buf: &mut [u8; MAX_DATAGRAM_LEN]) -> usize {
        let mut w = Writer { buf, at: 0 };
        w.bytes(&[MAGIC, WIRE_VERSION, self.kind(), 0]);
        match self {
            Datagram::Control(c) => {
                w.u64(c.seq);
                w.i64(c.sent_at_us);
                w.pose(&c.target);
                w.f64(c.jaw_rad);
            }
            Datagram::State(s) => {
                w.u64(s.seq);
                w.i64(s.station_time_us);
                w.u64(s.last_applied_seq);
                w.bytes(&[s.supervisor_state, 0, 0, 0, 0, 0, 0, 0]);
                for j in s.joints {
                    w.f64(j);
                }
                w.pose(&s.tip);
            }
            Datagram::Ping(p) => {
                w.u64(p.id);
                w.i64(p.t1_us);
            }
            Datagram::Pong(p) => {
                w.u64(p.id);
                w.i64(p.t1_us);
                w.i64(p.t2_us);
                w.i64(p.t3_us);
            }
        }
        let crc = CRC64.checksum(&w.buf[..w.at]);
        w.u64(crc);
        w.at
    }

    /// Decodes one datagram, checking magic, version, length, checksum and that every number is finite.
    pub fn decode(bytes: &[u8]) -> Result<Datagram, DecodeError> {
        if bytes.len() < HEADER_LEN + CRC_LEN {
            return Err(DecodeError::TooShort(bytes.len()));
        }
        if bytes[0] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if bytes[1] != WIRE_VERSION {
            return Err(DecodeError::BadVersion(bytes[1]));
        }
        let kind = bytes[2];
        let body_len = match kind {
            KIND_CONTROL => ControlCommand::BODY_LEN,
            KIND_STATE => StateReport::BODY_LEN,
            KIND_PING => ClockPing::BODY_LEN,
            KIND_PONG => ClockPong::BODY_LEN,
            other => return Err(DecodeError::UnknownKind(other)),
        };
        if bytes.len() != HEADER_LEN + body_len + CRC_LEN {
            return Err(DecodeError::BadLength);
        }
        let (signed, crc_bytes) = bytes.split_at(HEADER_LEN + body_len);
        let mut crc_le = [0u8; 8];
        crc_le.copy_from_slice(crc_bytes);
        if CRC64.checksum(signed) != u64::from_le_bytes(crc_le) {
            return Err(DecodeError::BadChecksum);
        }
        let mut r = Reader {
            buf: &signed[HEADER_LEN..],
            at: 0,
        };
        let datagram = match kind {
            KIND_CONTROL => Datagram::Control(ControlCommand {
                seq: r.u64(),
                sent_at_us: r.i64(),
                target: r.pose()?,
                jaw_rad: r.f64()?,
            }),
            KIND_STATE => Datagram::State(StateReport {
                seq: r.u64(),
                station_time_us: r.i64(),
                last_applied_seq: r.u64(),
                supervisor_state: r.padded_u8(),
                joints: r.f64s::<6>()?,
                tip: r.pose()?,
            }),
            KIND_PING => Datagram::Ping(ClockPing {
                id: r.u64(),
                t1_us: r.i64(),
            }),
            _ => Datagram::Pong(ClockPong {
                id: r.u64(),
                t1_us: r.i64(),
                t2_us: r.i64(),
                t3_us: r.i64(),
            }),
        };
        Ok(datagram)
    }
}

struct Writer<'a> {
    buf: &'a mut [u8; MAX_DATAGRAM_LEN],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.bytes(&v.to_le_bytes());
    }
    fn pose(&mut self, p: &WirePose) {
        for v in p.position_m.iter().chain(p.quaternion_xyzw.iter()) {
            self.f64(*v);
        }
    }
}

/// Reads a body whose length was already checked, so every read is in bounds.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take8(&mut self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.buf[self.at..self.at + 8]);
        self.at += 8;
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take8())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take8())
    }
    fn padded_u8(&mut self) -> u8 {
        self.take8()[0]
    }
    fn f64(&mut self) -> Result<f64, DecodeError> {
        let v = f64::from_le_bytes(self.take8());
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DecodeError::NonFinite)
        }
    }
    fn f64s<const N: usize>(&mut self) -> Result<[f64; N], DecodeError> {
        let mut out = [0.0; N];
        for v in &mut out {
            *v = self.f64()?;
        }
        Ok(out)
    }
    fn pose(&mut self) -> Result<WirePose, DecodeError> {
        Ok(WirePose {
            position_m: self.f64s::<3>()?,
            quaternion_xyzw: self.f64s::<4>()?,
        })
    }
}
