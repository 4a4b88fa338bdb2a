//! Kovan's own store: one that cannot be opened or written, or was damaged and moved aside.

use super::super::*;

pub(in crate::doctor) fn store(context: &Context, findings: &mut Vec<Finding>) {
    let Some(t) = &context.store_trouble else {
        return;
    };
    findings.push(
        Finding::new(t.finding_kind(), Severity::Warning, Vec::new(), t.message())
            .why(&format!(
                "{}{}.",
                t.consequence()[..1].to_uppercase(),
                &t.consequence()[1..]
            ))
            .fix(t.fix()),
    );
}
