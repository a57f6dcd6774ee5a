import type { ComponentChildren } from "preact";
import { formatRoute, type Route } from "../route.js";

export type Navigate = (route: Route) => void;

/** A link to a console route: a real `href` (open in a new tab, copy), followed in place on a plain click. */
export function Link(props: {
  to: Route;
  navigate: Navigate;
  children: ComponentChildren;
  current?: boolean;
  class?: string;
}) {
  return (
    <a
      href={formatRoute(props.to)}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        props.navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
