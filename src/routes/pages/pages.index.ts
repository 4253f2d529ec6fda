import { createRouter } from "../../lib/create-router";
import { RESET_PAGE_PATH } from "../../lib/reset-page";
import * as handlers from "./pages.handlers";

/** The browser pages, outside the OpenAPI document: Swagger UI, the reset form, their files. */
export const pagesRouter = createRouter()
  .get("/doc", handlers.doc)
  .get(RESET_PAGE_PATH, handlers.resetPassword)
  .get(handlers.ASSET_PATH, handlers.asset);
