export { type LocalHost, startLocalHost, waitForStatus } from "../../dev/localHostProcess.js";
