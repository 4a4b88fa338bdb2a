//! Kovan's own store: one that cannot be opened or written, or was damaged and moved aside.

use super::super::*;

pub(in crate::doctor) fn store(context: &Context, findings: &mut Vec<Finding>) {
    let Some(t) = &context.store_trouble else {
        return;
    };
    findings.push(
        Finding::new(kind_of(t), Severity::Warning, Vec::new(), t.message())
            .why(&format!(
                "{}{}.",
                t.consequence()[..1].to_uppercase(),
                &t.consequence()[1..]
            ))
            .fix(t.fix()),
    );
}

/// The finding a store trouble is. Here, not in the store: the store knows nothing of the doctor.
fn kind_of(t: &crate::store::StoreTrouble) -> FindingKind {
    use crate::store::StoreTroubleKind;
    match t.kind {
        StoreTroubleKind::Unavailable | StoreTroubleKind::Unwritable => {
            FindingKind::StoreUnavailable
        }
        StoreTroubleKind::Recovered => FindingKind::StoreRecovered,
    }
}
