// asl-validator 4.0.0 ships no types: `module.exports = function validator(definition, opts)`.
declare module 'asl-validator' {
  interface AslValidatorResult {
    isValid: boolean;
    errors: Array<{ 'Error code': string; Message: string }>;
    errorsText(separator?: string): string;
  }
  function aslValidator(definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }): AslValidatorResult;
  export default aslValidator;
}
