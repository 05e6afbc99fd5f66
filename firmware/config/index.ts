/** The appliance configuration document: schema, validation, projections, edits and password hashing. */
export * from './edit.ts';
export { ConfigError, type ConfigErrorCode, type ConfigIssue } from './errors.ts';
export * from './password.ts';
export * from './project.ts';
export * from './schema.ts';
export * from './validate.ts';
