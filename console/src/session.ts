/**
 * The API key for this tab only: sessionStorage is per tab and per origin, never sent with a request by the
 * browser, and gone when the tab closes. Never a cookie, never the URL. Sign-out removes it.
 */
const entry = "mailhook.apiKey";

export const session = {
  load(): string | undefined {
    return window.sessionStorage.getItem(entry) ?? undefined;
  },
  save(key: string): void {
    window.sessionStorage.setItem(entry, key);
  },
  clear(): void {
    window.sessionStorage.removeItem(entry);
  },
};
