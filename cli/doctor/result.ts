/** The outcome of one doctor check, with the fix when it is not a pass. */
export interface CheckResult {
  status: "pass" | "warn" | "fail";
  /** What was checked, e.g. `mx contoso.com`. */
  name: string;
  /** What was found. */
  detail: string;
  /** What to do about it (warn and fail only). */
  fix?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({ status: "pass", name, detail });
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  status: "warn",
  name,
  detail,
  fix,
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  status: "fail",
  name,
  detail,
  fix,
});

/** `PASS  name  detail`, with the fix indented under warnings and failures. */
export function formatResult(result: CheckResult): string {
  const head = `${result.status.toUpperCase().padEnd(4)}  ${result.name}: ${result.detail}`;
  return result.fix ? `${head}\n      fix: ${result.fix}\n` : `${head}\n`;
}
