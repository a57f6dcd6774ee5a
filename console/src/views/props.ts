import type { Api, ApiError, Caller } from "../api.js";
import type { Route } from "../route.js";
import type { Navigate } from "./Link.js";

/** What every signed-in view gets from the console. */
export interface ViewProps {
  api: Api;
  caller: Caller;
  route: Route;
  navigate: Navigate;
  /** Every failed call goes here too (a key no longer accepted signs out). */
  onError: (error: ApiError) => void;
  /** Says the result of an action in the page's live region. */
  announce: (text: string) => void;
}
