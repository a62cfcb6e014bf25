/** The two environments of a rollout: blue is current production, green the new version. */
export type Colour = "blue" | "green";
