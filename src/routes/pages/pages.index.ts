import { createRouter } from "../../http/create-router";
import * as handlers from "./pages.handlers";
import { RESET_PAGE_PATH } from "./reset-page";

/** The browser pages, outside the OpenAPI document: Swagger UI, the reset form, their files. */
export const pagesRouter = createRouter()
  .get("/doc", handlers.doc)
  .get(RESET_PAGE_PATH, handlers.resetPassword)
  .get(handlers.ASSET_PATH, handlers.asset);
