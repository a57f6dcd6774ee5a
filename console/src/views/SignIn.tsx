import { useState } from "preact/hooks";
import { ApiError, type Caller, createApi } from "../api.js";
import { ErrorNotice } from "./Notice.js";

/** The sign-in form: a key is checked against the API (`GET /api/v1/me`) before it is kept. */
export function SignIn(props: { notice?: string; onSignedIn: (key: string, caller: Caller) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError(new ApiError("refused", "Enter an API key."));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(trimmed, await createApi(trimmed).me());
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError("unexpected", String(failure)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>mailhook console</h1>
      <p>Sign in with a client's API key. An operator key shows every client's messages and mailboxes.</p>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <form onSubmit={submit} aria-label="Sign in">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby="key-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="key-help" class="help">
          Kept in this tab only (session storage) until you sign out or close it.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <ErrorNotice error={error} />
    </main>
  );
}
