import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate, ValidatorOptions } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { FieldError, invalidInput } from './problem';

/** Flattens class-validator's tree into `{ field: 'opportunity.amount', message }` entries. */
export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...toFieldErrors(error.children ?? [], field)];
  });
}

/** Unknown fields refused; refusals carry neither the object nor the value (which may be personal data). */
const VALIDATOR_OPTIONS: ValidatorOptions = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } };

/** The global validation: unknown fields refused, no implicit type coercion, every refusal names its field. */
export function createValidationPipe(): ValidationPipe {
  precomputeValidationMetadata();
  return new ValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => invalidInput(toFieldErrors(errors)),
  });
}

/**
 * A body validated outside a route (an imported line) exactly as the global pipe validates a
 * route's body: the DTO instance, or the field errors the route would answer 400 with.
 */
export async function validateAs<T extends object>(dto: new () => T, plain: unknown): Promise<{ value: T } | { errors: FieldError[] }> {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) return { errors: [{ field: 'body', message: 'the body must be a JSON object' }] };
  const value = plainToInstance(dto, plain, { enableImplicitConversion: false });
  const errors = await validate(value, VALIDATOR_OPTIONS);
  return errors.length > 0 ? { errors: toFieldErrors(errors) } : { value };
}

/** A command body must be a JSON object; an absent body counts as `{}` (for routes whose fields are all optional). */
@Injectable()
export class JsonObjectBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body') return value;
    if (value === undefined) return {};
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidInput([{ field: 'body', message: 'the body must be a JSON object' }]);
    }
    return value;
  }
}

const PRECOMPUTED = Symbol('validation metadata precomputed');
type Storage = ReturnType<typeof getMetadataStorage> & { [PRECOMPUTED]?: true };

/**
 * class-validator works out, on every validation of every object, which of its metadata apply
 * to the object's class: it walks the metadata of every decorated class in the app (an
 * `instanceof` each) and groups the result by property. The answer depends only on the class
 * and the options, and the metadata are registered when the DTO classes are defined: kept here
 * per class and options, and worked out again should any metadata be added later.
 */
export function precomputeValidationMetadata(storage: Storage = getMetadataStorage()): void {
  if (storage[PRECOMPUTED]) return;
  storage[PRECOMPUTED] = true;
  let targets = new Map<unknown, Map<string, ValidationMetadata[]>>();
  let groupings = new WeakMap<ValidationMetadata[], Record<string, ValidationMetadata[]>>();
  const forget = () => {
    targets = new Map();
    groupings = new WeakMap();
  };
  const { getTargetValidationMetadatas, groupByPropertyName, addValidationMetadata, addConstraintMetadata } = storage;
  storage.getTargetValidationMetadatas = function (target, schema, always, strictGroups, groups) {
    const key = `${schema}\u0000${always}\u0000${strictGroups}\u0000${groups?.join('\u0000') ?? ''}`;
    let byOptions = targets.get(target);
    if (!byOptions) targets.set(target, (byOptions = new Map()));
    let metadata = byOptions.get(key);
    if (!metadata) byOptions.set(key, (metadata = getTargetValidationMetadatas.call(this, target, schema, always, strictGroups, groups)));
    return metadata;
  };
  storage.groupByPropertyName = function (metadata) {
    let grouped = groupings.get(metadata);
    if (!grouped) groupings.set(metadata, (grouped = groupByPropertyName.call(this, metadata)));
    return grouped;
  };
  storage.addValidationMetadata = function (metadata) {
    forget();
    addValidationMetadata.call(this, metadata);
  };
  storage.addConstraintMetadata = function (metadata) {
    forget();
    addConstraintMetadata.call(this, metadata);
  };
}
