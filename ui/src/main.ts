import { mount } from 'svelte';

import App from './App.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('Kovan: #app is missing from index.html');
// index.html shows a placeholder until the window is drawn; replace it.
target.replaceChildren();

export default mount(App, { target });
