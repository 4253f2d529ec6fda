/** The path of the page that email verification links open. */
export const VERIFY_PAGE_PATH = "/verify-email";

/** The verification page at `origin`, ready for a token: what EMAIL_VERIFY_URL defaults to. */
export const verifyPageUrl = (origin: string) => `${new URL(VERIFY_PAGE_PATH, origin).href}?token=`;
