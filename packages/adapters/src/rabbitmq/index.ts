export { BrokerConnectError } from "./BrokerSession.ts"
export * from "./RabbitMqEventPublisher.ts"
export * from "./RabbitMqSettings.ts"
export * from "./ReadingEventMessage.ts"
