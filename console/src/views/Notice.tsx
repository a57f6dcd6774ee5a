import type { ApiError } from "../api.js";

/** An error the user must see at once (role alert), in words; the API's own text when it gave one. */
export function ErrorNotice(props: { error?: ApiError; retry?: () => void }) {
  if (!props.error) return null;
  const title =
    props.error.kind === "unreachable"
      ? "The API cannot be reached"
      : props.error.kind === "unauthorized"
        ? "Key not accepted"
        : props.error.kind === "refused"
          ? "Refused"
          : "Something went wrong";
  return (
    <div class="notice error" role="alert">
      <strong>{title}.</strong> {props.error.message}
      {props.retry ? (
        <button type="button" class="link" onClick={props.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
