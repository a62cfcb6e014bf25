/**
 * SNS PublishInput.Subject (AWS API model, botocore sns PublishInput): "Subjects must be UTF-8
 * text with no line breaks or control characters, and less than 100 characters long." A subject
 * that breaks this is refused, and a retried Publish would be refused the same way: the
 * notification would be lost. Both the rollback function and `rollout rollback` build theirs here.
 */
export const SNS_SUBJECT_MAX = 99;

/** Control characters (C0, DEL, C1) become spaces; at most 99 code points (never half a surrogate pair), `...` when cut. */
export function snsSubject(text: string): string {
  const isControl = (c: number) => c < 0x20 || (c >= 0x7f && c <= 0x9f);
  const clean = Array.from(text, (ch) => (isControl(ch.codePointAt(0)!) ? " " : ch))
    .join("")
    .replace(/ {2,}/g, " ")
    .trim();
  const chars = Array.from(clean);
  return chars.length <= SNS_SUBJECT_MAX ? clean : `${chars.slice(0, SNS_SUBJECT_MAX - 3).join("")}...`;
}
