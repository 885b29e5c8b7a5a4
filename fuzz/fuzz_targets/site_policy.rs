//! Fuzz target: the site admission policy loader (`trust::policy::Policy::from_toml`) must return
//! an error on any input, never panic; a policy that loads is asked to decide for every role, at
//! extreme instants and with every consent state, and must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust::policy::{ConsentState, Device, Policy};
use trust::{Identity, Role};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::from_toml(text) else {
        return;
    };
    let _ = policy.warnings();
    let names: Vec<String> = policy
        .surgeons()
        .iter()
        .map(|surgeon| surgeon.name.clone())
        .chain(["nobody".to_string()])
        .collect();
    let consents = [
        ConsentState::Present,
        ConsentState::NotChecked,
        ConsentState::Missing {
            reason: "gone".into(),
        },
        ConsentState::Mismatch {
            expected: "a".into(),
            found: "b".into(),
        },
    ];
    for name in &names {
        for role in Role::KNOWN.into_iter().chain([Role::Other("x".into())]) {
            let mut identity = Identity::simulated(name, role);
            identity.serial = "0a:1B".into();
            for now in [i64::MIN, -1, 0, 1_777_608_000, i64::MAX] {
                for device in Device::ALL {
                    for consent in &consents {
                        let decision = policy.decide(&identity, device, now, consent);
                        let _ = decision.summary();
                    }
                }
            }
        }
    }
});
