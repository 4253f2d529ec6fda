import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Hono } from "hono";
import type { BlankEnv } from "hono/types";
import type * as audit from "./routes/audit/audit.routes";
import type * as auth from "./routes/auth/auth.routes";
import type * as keys from "./routes/keys/keys.routes";
import type * as me from "./routes/me/me.routes";
import type * as mfa from "./routes/mfa/mfa.routes";
import type * as sessions from "./routes/sessions/sessions.routes";
import type * as system from "./routes/system/system.routes";
import type * as users from "./routes/users/users.routes";

// The types a front end compiles with `hc<AppType>`. They are read from the route contracts
// alone (schemas and documented responses), never from src/app.ts: the app's type closure
// reaches the handlers, the stores and Node-only code, which a browser project (lib DOM, no
// @types/node) cannot compile. tests/node/typed-client.test.ts checks this type is the app's.

/** Never defined: only its method's type is read, to apply zod-openapi's own route typing. */
declare const router: OpenAPIHono;
type RouteSchema<R extends RouteConfig> =
  ReturnType<typeof router.openapi<R>> extends OpenAPIHono<infer _E, infer S, infer _B> ? S : never;

type ApiSchema = RouteSchema<typeof system.health> &
  RouteSchema<typeof system.ready> &
  RouteSchema<typeof keys.jwks> &
  RouteSchema<typeof auth.register> &
  RouteSchema<typeof auth.login> &
  RouteSchema<typeof auth.forgetPassword> &
  RouteSchema<typeof auth.resetPassword> &
  RouteSchema<typeof auth.verifyEmail> &
  RouteSchema<typeof sessions.refresh> &
  RouteSchema<typeof sessions.logout> &
  RouteSchema<typeof sessions.listMySessions> &
  RouteSchema<typeof sessions.endMySession> &
  RouteSchema<typeof users.listUsers> &
  RouteSchema<typeof users.getUser> &
  RouteSchema<typeof users.updateUser> &
  RouteSchema<typeof users.deleteUser> &
  RouteSchema<typeof me.getMe> &
  RouteSchema<typeof me.updateMe> &
  RouteSchema<typeof me.deleteMe> &
  RouteSchema<typeof me.changePassword> &
  RouteSchema<typeof me.resendVerification> &
  RouteSchema<typeof me.changeEmail> &
  RouteSchema<typeof mfa.startTotp> &
  RouteSchema<typeof mfa.confirmTotp> &
  RouteSchema<typeof mfa.disableTotp> &
  RouteSchema<typeof mfa.regenerateBackupCodes> &
  RouteSchema<typeof mfa.clearUserMfa> &
  RouteSchema<typeof mfa.loginMfa> &
  RouteSchema<typeof audit.listAudit>;

/** Every API operation with its request and response types, for `hc<AppType>` (hono/client). */
export type AppType = Hono<BlankEnv, ApiSchema, "/">;
