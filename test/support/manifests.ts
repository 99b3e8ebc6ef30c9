// Objects the e2e tests and benchmarks apply (a stream of JSON objects on `kubectl apply -f -`), written once.
/** Knative's helloworld-go sample as a Service; `command` replaces what runs (any image name works locally). */
export function helloService(
  namespace: string,
  name: string,
  target: string,
  command?: string[],
): Record<string, unknown> {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      template: {
        spec: {
          containers: [
            {
              image: 'ghcr.io/knative/helloworld-go',
              env: [{ name: 'TARGET', value: target }],
              ...(command ? { command } : {}),
            },
          ],
        },
      },
    },
  };
}
