/** The model APIs agents call, by name: each has its own stack secret and its own route in the credential proxy. */
import { anthropic } from "./anthropic";
import { openai } from "./openai";

export type { ApiProvider } from "../api-provider";

export const API_PROVIDERS = { anthropic, openai } as const;
export type ApiProviderName = keyof typeof API_PROVIDERS;
/** The stack secrets holding API keys, one per provider: `anthropicApiKey`, `openaiApiKey`. */
export type ApiKeySecret = (typeof API_PROVIDERS)[ApiProviderName]["secretKey"];
export const API_KEY_SECRETS = Object.values(API_PROVIDERS).map((provider) => provider.secretKey) as ApiKeySecret[];
