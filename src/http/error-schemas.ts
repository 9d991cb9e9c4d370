import { Type } from 'typebox';

/** The one error shape every route answers with (src/http/error-handler.plugin.ts). */
export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'a code from src/errors.ts, e.g. DORMITORY_FULL' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'the request field at fault' })),
    }),
  },
);

/** `response` entries for documented 4xx answers, spread beside a route's success schemas. */
export const ErrorResponses = { '4xx': ErrorSchema } as const;
