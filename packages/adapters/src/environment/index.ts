export * from "./Problems.ts"
export * from "./Variables.ts"
