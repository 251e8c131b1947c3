// The bookie's identity checks: BookKeeper's cookie validation across its dirs and the metadata store.
export { checkAndWriteCookies } from './check-cookies';
export type { CheckCookiesOptions, CheckCookiesResult, CookieStore } from './check-cookies';
export { CookieValidationError } from './cookie-errors';
export type { CookieCheck } from './cookie-errors';
export { COOKIE_FILE, CURRENT_DIR, cookieFilePath } from './cookie-file';
