import t from 'tap';
import { fuzzOperations } from '../helpers/openapi-fuzz.ts';
import { MUTATING } from '../helpers/openapi-operations.ts';

t.test('fuzzing every mutating OpenAPI operation: no 5xx, documented errors, rejected input moves no money', (t) => fuzzOperations(t, (op) => MUTATING.has(op.method)));
