import type { CommandContext } from "../backend";
import type { Flags } from "./shared";

/** Not yet built (issue 13): replaced by its implementation. */
export async function finishCommand(_flags: Flags, _ctx: CommandContext): Promise<number> {
  throw new Error("rollout finish: not implemented yet");
}
