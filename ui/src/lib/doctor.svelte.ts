// The isolation doctor's findings, shared by the header's button (its count badge) and the dialog.
import { ApiError, applyFix, doctorFindings, toApiError, type Finding, type FixAction, type Severity } from './api';
import type { FindingKind } from './bindings/FindingKind';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

/** What the last one-click fix did: core's own words, or why it failed. */
export type FixResult =
  | { ok: true; kind: FindingKind; result: string }
  | { ok: false; kind: FindingKind; error: ApiError };

export class Doctor {
  /** The newest findings; null until the first check has answered. */
  findings = $state.raw<Finding[] | null>(null);
  checking = $state(false);
  error = $state.raw<ApiError | null>(null);
  /** The fix that runs now (one at a time). */
  fixing = $state.raw<FixAction | null>(null);
  lastFix = $state.raw<FixResult | null>(null);
  // Only the newest check may change the findings.
  #latest = 0;

  /** Errors and warnings: what the header's badge counts. */
  get problems(): number {
    return this.findings?.filter((f) => f.severity !== 'info').length ?? 0;
  }

  /** The findings ordered error, warning, info (stable within a severity). */
  get sorted(): Finding[] {
    const rank = (s: Severity) => SEVERITIES.indexOf(s);
    return [...(this.findings ?? [])].sort((a, b) => rank(a.severity) - rank(b.severity));
  }

  async check(): Promise<void> {
    const request = ++this.#latest;
    this.checking = true;
    try {
      const findings = await doctorFindings();
      if (request !== this.#latest) return;
      this.findings = findings;
      this.error = null;
    } catch (reason) {
      if (request === this.#latest) this.error = toApiError('doctor_findings', reason);
    } finally {
      if (request === this.#latest) this.checking = false;
    }
  }

  /** Make `finding`'s fix, then check again. One fix at a time. */
  async fix(finding: Finding): Promise<void> {
    const action = finding.fixAction;
    if (action === null || this.fixing !== null) return;
    this.fixing = action;
    this.lastFix = null;
    try {
      const result = await applyFix(action);
      this.lastFix = { ok: true, kind: finding.kind, result };
    } catch (reason) {
      this.lastFix = { ok: false, kind: finding.kind, error: toApiError('apply_fix', reason) };
    } finally {
      this.fixing = null;
    }
    await this.check();
  }
}
