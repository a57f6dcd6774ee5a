import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  /** When the data last arrived (epoch ms). */
  loadedAt?: number;
  reload(): void;
}

/**
 * Loads with `load` whenever `key` changes, and again every `refreshMs` while the tab is visible (live
 * refresh); an answer that arrives after a newer request started is dropped.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  key: string,
  options: { refreshMs?: number; onError?: (error: ApiError) => void } = {},
): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, "reload">>({ loading: true });
  const sequence = useRef(0);
  const latest = useRef({ load, onError: options.onError });
  latest.current = { load, onError: options.onError };

  const run = useCallback(() => {
    const mine = ++sequence.current;
    setState((s) => ({ ...s, loading: true }));
    latest.current.load().then(
      (data) => {
        if (mine === sequence.current) setState({ data, loading: false, loadedAt: Date.now() });
      },
      (error: unknown) => {
        if (mine !== sequence.current) return;
        const failure =
          error instanceof ApiError
            ? error
            : new ApiError("unexpected", "Something went wrong in the console.");
        setState((s) => ({ ...s, error: failure, loading: false }));
        latest.current.onError?.(failure);
      },
    );
  }, []);

  useEffect(() => {
    setState({ loading: true });
    run();
  }, [key, run]);

  useEffect(() => {
    if (!options.refreshMs) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") run();
    }, options.refreshMs);
    return () => window.clearInterval(timer);
  }, [options.refreshMs, run]);

  return { ...state, reload: run };
}
