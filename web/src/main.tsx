import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { session } from './auth/session';
import { registerServiceWorker } from './pwa/register';
import './styles.css';

registerServiceWorker();
void session.boot();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
