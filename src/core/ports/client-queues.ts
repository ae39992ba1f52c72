/** What a LogOn tells an Enterprise 10 client about the broker (MessageQueueConnection): never a password. */
export interface ClientConnection {
  url: string
  user: string
  virtualHost: string
}

/** The message broker as the doors use it: a queue of its own for each client session (messaging/amqp.ts). */
export interface ClientQueues {
  /** the broker as clients are told about it */
  readonly clientConnection: ClientConnection
  /** the queue of a user's session, named by the session's event tag (never the ticket) */
  clientQueueName(userId: number, eventTicket: string): string
  /**
   * Makes the queue and binds it to the exchanges of these brands, for idleSeconds; false when the broker is away
   * or refuses.
   */
  prepareClientQueue(queue: string, brandIds: number[], idleSeconds: number): Promise<boolean>
}
