import { createRouter } from "../../http/create-router";
import * as handlers from "./pages.handlers";
import { RESET_PAGE_PATH } from "./reset-page";
import { VERIFY_PAGE_PATH } from "./verify-page";

/** The browser pages, outside the OpenAPI document: Swagger UI, the reset and verification forms, their files. */
export const pagesRouter = createRouter()
  .get("/doc", handlers.doc)
  .get(RESET_PAGE_PATH, handlers.resetPassword)
  .get(VERIFY_PAGE_PATH, handlers.verifyEmail)
  .get(handlers.ASSET_PATH, handlers.asset);
