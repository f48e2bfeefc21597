# An Ingress for one track. The canary one carries
# nginx.ingress.kubernetes.io/canary: "true": ingress-nginx then sends it
# the share of the stable Ingress's requests that the canary-weight,
# canary-by-header and canary-by-cookie annotations (set by the traffic
# stages) say. It is created with weight 0: no traffic until a step says so.
# Its backend is the track's Service: APP or APP-canary, or the release of
# a chart or overlay (APP-VERSION).
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  labels:
    app: ${app}
    track: ${track}
%{ if track == "canary" ~}
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "0"
%{ endif ~}
spec:
  ingressClassName: ${ingress_class}
  rules:
    - host: ${host}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ${service}
                port:
                  number: 80
