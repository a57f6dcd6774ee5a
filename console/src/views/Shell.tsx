import type { ComponentChildren } from "preact";
import type { Caller } from "../api.js";
import type { Route, View } from "../route.js";
import { Link, type Navigate } from "./Link.js";

const tabs: { view: View; label: string }[] = [
  { view: "messages", label: "Messages" },
  { view: "mailboxes", label: "Mailboxes" },
  { view: "overview", label: "Overview" },
];

/** The frame of every signed-in view: who is signed in, the views, sign-out, and a live region for results. */
export function Shell(props: {
  caller: Caller;
  route: Route;
  navigate: Navigate;
  signOut: () => void;
  announcement?: string;
  children: ComponentChildren;
}) {
  const active = props.route.view === "message" ? "messages" : props.route.view;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">mailhook</span>
        <nav aria-label="Views">
          <ul>
            {tabs.map((tab) => (
              <li key={tab.view}>
                <Link
                  to={{ view: tab.view, filters: tab.view === "messages" ? props.route.filters : {} }}
                  navigate={props.navigate}
                  current={active === tab.view}
                >
                  {tab.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {props.caller.clientId}
          {props.caller.operator ? " (operator)" : ""}
        </span>
        <button type="button" onClick={props.signOut}>
          Sign out
        </button>
      </header>
      <p class="announce" role="status" aria-live="polite">
        {props.announcement ?? ""}
      </p>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
