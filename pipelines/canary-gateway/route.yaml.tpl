# The HTTPRoute of the application (Gateway API v1), created on the first
# release with the stable Service as its only backend. The traffic stages
# add the canary Service next to it with a weight, and a rule that sends
# requests carrying the A/B header to the canary only.
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${app}
  labels:
    app: ${app}
spec:
  parentRefs:
    - name: ${gateway}
  hostnames:
    - ${host}
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: /
      backendRefs:
        - name: ${app}
          port: 80
