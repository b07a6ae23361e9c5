export * from "./PortMethods.ts"
