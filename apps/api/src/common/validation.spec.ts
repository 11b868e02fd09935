import { IsInt, IsString, validateSync } from 'class-validator';
import { precomputeValidationMetadata } from './validation';

class Parent {
  @IsString() name!: unknown;
}
class Child extends Parent {
  @IsInt() count!: unknown;
}
const child = (values: Record<string, unknown>) => Object.assign(new Child(), values);
const failing = (object: object) => validateSync(object).map((error) => error.property).sort();

/** class-validator with its per-class metadata worked out once (precomputeValidationMetadata). */
describe('Validation metadata precomputed per class', () => {
  beforeAll(() => precomputeValidationMetadata());

  it('validates as class-validator does: own and inherited constraints, every time', () => {
    expect(failing(child({ name: 'Ada', count: 1 }))).toEqual([]);
    expect(failing(child({ name: 7, count: 'x' }))).toEqual(['count', 'name']);
    expect(failing(child({ name: 'Ada', count: 'again' }))).toEqual(['count']);
    expect(failing(Object.assign(new Parent(), { name: 1, count: 'x' }))).toEqual(['name']);
  });

  it('works the metadata out again when a constraint is added after a validation', () => {
    expect(failing(child({ name: 'Ada', count: 1, note: 5 }))).toEqual([]);
    IsString()(Child.prototype, 'note');
    expect(failing(child({ name: 'Ada', count: 1, note: 5 }))).toEqual(['note']);
    IsInt()(Parent.prototype, 'rank');
    expect(failing(child({ name: 'Ada', count: 1, note: 'n', rank: 'high' }))).toEqual(['rank']);
  });
});
