/** The path of the page that reset links open (src/routes/pages). */
export const RESET_PAGE_PATH = "/reset-password";

/** The reset page at `origin`, ready for a token to be appended: what APP_URL defaults to. */
export const resetPageUrl = (origin: string) => `${new URL(RESET_PAGE_PATH, origin).href}?token=`;
