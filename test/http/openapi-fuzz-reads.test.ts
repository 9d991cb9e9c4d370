import t from 'tap';
import { fuzzOperations } from '../helpers/openapi-fuzz.ts';
import { MUTATING } from '../helpers/openapi-operations.ts';

t.test('fuzzing every reading OpenAPI operation: no 5xx, documented errors', (t) => fuzzOperations(t, (op) => !MUTATING.has(op.method)));
