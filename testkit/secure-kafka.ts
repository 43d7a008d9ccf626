/**
 * A local broker secured like a managed cluster, for the tests of rtsa's Kafka security:
 *
 *   PLAINTEXT  port      the operator's door (ANONYMOUS is a super user here): topics, ACLs
 *   SECURE     port + 2  SASL_SSL, SCRAM-SHA-512 and PLAIN, user `app`
 *   MTLS       port + 3  SSL with a required client certificate (CN=app is user `app`)
 *
 * The CONTROLLER listener takes port + 1. User `app` may read and write the topics whose
 * names start with `topicPrefix` and read groups starting with `rtsa`, and nothing else:
 * no CreateTopics, as on a cluster where a platform team provisions the topics.
 */
import { join } from 'node:path'
import {
  AclOperations,
  type AclOperationValue,
  AclPermissionTypes,
  Admin,
  ResourcePatternTypes,
  ResourceTypes,
  type ResourceTypeValue,
} from '@platformatic/kafka'
import { type LocalKafkaOptions, startLocalKafka, stopLocalKafka } from '../src/infra/kafka/broker.ts'
import { makeCertificates, type TestCertificates } from './tls.ts'

export interface SecureKafka {
  readonly operatorBootstrap: string[]
  readonly saslBootstrap: string[]
  readonly mtlsBootstrap: string[]
  readonly user: string
  readonly password: string
  readonly certs: TestCertificates
  stop(): Promise<void>
}

export async function startSecureKafka(o: {
  home: string
  libsHome: string
  port: number
  topicPrefix: string
}): Promise<SecureKafka> {
  const certs = await makeCertificates(join(o.home, 'certs'))
  const user = 'app'
  const password = 'app-secret-for-tests'
  const options: LocalKafkaOptions = {
    home: o.libsHome,
    dir: join(o.home, 'kafka'),
    port: o.port,
    heapMb: 384,
    extraListeners: [
      { name: 'SECURE', port: o.port + 2, protocol: 'SASL_SSL' },
      { name: 'MTLS', port: o.port + 3, protocol: 'SSL' },
    ],
    extraProperties: {
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:ANONYMOUS',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512,PLAIN',
      'listener.name.secure.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${user}="${password}";`,
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': certs.serverKeystore,
      'ssl.keystore.password': certs.keystorePassword,
      'ssl.key.password': certs.keystorePassword,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': certs.caFile,
      'listener.name.mtls.ssl.client.auth': 'required',
      'ssl.principal.mapping.rules': 'RULE:^CN=([A-Za-z0-9_.-]+).*$/$1/,DEFAULT',
    },
    formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=${user},password=${password}]`],
  }
  await startLocalKafka(options)
  const operatorBootstrap = [`127.0.0.1:${o.port}`]
  await grant(operatorBootstrap, `User:${user}`, o.topicPrefix)
  return {
    operatorBootstrap,
    saslBootstrap: [`127.0.0.1:${o.port + 2}`],
    mtlsBootstrap: [`127.0.0.1:${o.port + 3}`],
    user,
    password,
    certs,
    stop: async () => {
      await stopLocalKafka(options)
    },
  }
}

/** The least a pipeline needs: read, write and describe its topics, read its groups. */
async function grant(bootstrap: string[], principal: string, topicPrefix: string): Promise<void> {
  const admin = new Admin({ clientId: 'rtsa-test-acls', bootstrapBrokers: bootstrap })
  admin.on('error', () => {})
  const allow = (resourceType: ResourceTypeValue, resourceName: string, operation: AclOperationValue) => ({
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.PREFIXED,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  })
  try {
    await admin.createAcls({
      creations: [
        ...[
          AclOperations.READ,
          AclOperations.WRITE,
          AclOperations.DESCRIBE,
          AclOperations.DESCRIBE_CONFIGS,
        ].map((op) => allow(ResourceTypes.TOPIC, topicPrefix, op)),
        allow(ResourceTypes.GROUP, 'rtsa', AclOperations.READ),
        allow(ResourceTypes.GROUP, 'rtsa', AclOperations.DESCRIBE),
      ],
    })
  } finally {
    await admin.close()
  }
}
