export * from "./GlucoseModel.ts"
export * from "./SimulatorProvider.ts"
