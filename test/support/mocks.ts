/** The shared mocks helper: tests and the offline plan use the same recorder. */
export {
  ResourceRecorder,
  valueOf,
  type MockOptions,
  type RecordedOptions,
  type RecordedResource,
} from "../../cli/mockEngine";
