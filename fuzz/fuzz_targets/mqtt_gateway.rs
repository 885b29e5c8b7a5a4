//! Fuzz target: what the hub's MQTT gateway does with a device's bytes (packet framing, the topic
//! rules, the addressee of an answer, a stored password hash) must never panic.
#![no_main]

use bytes::BytesMut;
use hub::device_acl::{self, DeviceIdentity};
use libfuzzer_sys::fuzz_target;
use rumqttc::Packet;

fuzz_target!(|data: &[u8]| {
    let identity = DeviceIdentity {
        device: "w-1".into(),
        patient: "p-1".into(),
    };
    let mut stream = BytesMut::from(data);
    while let Ok(packet) = Packet::read(&mut stream, 70 * 1024) {
        match packet {
            Packet::Publish(p) => {
                let _ = identity.may_publish(&p.topic);
                let _ = device_acl::addressee(&p.topic);
            }
            Packet::Subscribe(s) => {
                for f in &s.filters {
                    let _ = identity.may_subscribe(&f.path);
                }
            }
            Packet::Connect(c) => {
                if let Some(login) = &c.login {
                    let _ = hub::device_secret::verify(&login.password, &login.username);
                }
                if let Some(will) = &c.last_will {
                    let _ = identity.may_publish(&will.topic);
                }
            }
            _ => {}
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hub::device_secret::verify("s3cret", text);
        let _ = identity.may_subscribe(text);
        let _ = device_acl::addressee(text);
    }
});
