/**
 * The message of anything thrown. `catch (error)` gives `unknown`: a non-Error (a string, a
 * rejected plain object) has no `.message`, and casting it to Error would print `undefined`.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
