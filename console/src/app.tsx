import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { type ApiError, type Caller, createApi } from "./api.js";
import { formatRoute, parseRoute, type Route } from "./route.js";
import { session } from "./session.js";
import { Mailboxes } from "./views/Mailboxes.js";
import { MessageDetail } from "./views/MessageDetail.js";
import { MessageList } from "./views/MessageList.js";
import { ErrorNotice } from "./views/Notice.js";
import { Overview } from "./views/Overview.js";
import { Shell } from "./views/Shell.js";
import { SignIn } from "./views/SignIn.js";

/** The console: sign-in, then the view the URL names. */
export function App() {
  const [key, setKey] = useState(session.load());
  const [caller, setCaller] = useState<Caller>();
  const [checkError, setCheckError] = useState<ApiError>();
  const [checks, setChecks] = useState(0);
  const [notice, setNotice] = useState<string>();
  const [announcement, setAnnouncement] = useState<string>();
  const [route, setRoute] = useState(() => parseRoute(window.location.search));
  const api = useMemo(() => (key ? createApi(key) : undefined), [key]);

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(window.location.search));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const signOut = useCallback((message?: string) => {
    session.clear();
    setKey(undefined);
    setCaller(undefined);
    setCheckError(undefined);
    setNotice(message);
  }, []);

  const onError = useCallback(
    (error: ApiError) => {
      if (error.kind === "unauthorized") signOut("Your API key is no longer accepted. Sign in again.");
    },
    [signOut],
  );

  // A key kept from before a reload is checked again before anything is shown.
  useEffect(() => {
    if (!api || caller) return;
    api.me().then(setCaller, (error: ApiError) => {
      setCheckError(error);
      onError(error);
    });
  }, [api, caller, onError, checks]);

  const navigate = useCallback((next: Route) => {
    window.history.pushState(null, "", formatRoute(next));
    setRoute(next);
    setAnnouncement(undefined);
    window.scrollTo(0, 0);
    document.getElementById("main")?.focus();
  }, []);

  if (!api) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedInKey, who) => {
          session.save(signedInKey);
          setNotice(undefined);
          setCaller(who);
          setKey(signedInKey);
        }}
      />
    );
  }
  if (!caller) {
    return (
      <main id="main" class="sign-in">
        <h1>mailhook console</h1>
        {checkError ? (
          <ErrorNotice
            error={checkError}
            retry={() => {
              setCheckError(undefined);
              setChecks((n) => n + 1);
            }}
          />
        ) : (
          <p role="status">Checking your key…</p>
        )}
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </main>
    );
  }
  const shared = { api, route, navigate, onError, announce: setAnnouncement, caller };
  return (
    <Shell
      caller={caller}
      route={route}
      navigate={navigate}
      signOut={() => signOut()}
      announcement={announcement}
    >
      {route.view === "message" && route.id ? (
        <MessageDetail {...shared} id={route.id} />
      ) : route.view === "mailboxes" ? (
        <Mailboxes {...shared} />
      ) : route.view === "overview" ? (
        <Overview {...shared} />
      ) : (
        <MessageList {...shared} />
      )}
    </Shell>
  );
}
